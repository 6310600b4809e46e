// Placeholder: SOCKS5 (RFC 1928/1929) messages and parser land here (issue 7).
