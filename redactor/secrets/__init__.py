"""Secret scopes: where secret values come from (built by the scopes issue)."""
