"""The CLI's sub-commands (`paperdigest site …`, `paperdigest demos …`, `paperdigest watch`): app layer."""
