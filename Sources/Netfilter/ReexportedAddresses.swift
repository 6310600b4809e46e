// Rulesets are built from these address values; importing Netfilter brings them along.
@_exported import IPAddresses
