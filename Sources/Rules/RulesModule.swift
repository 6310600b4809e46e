// Placeholder: the rule tries and rule-file readers land here (issue 5).
