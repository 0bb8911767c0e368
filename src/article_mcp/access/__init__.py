"""Who may do what: principals and their scopes, access tokens, and public share links."""
