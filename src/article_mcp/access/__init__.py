"""Who may do what: principals and their scopes (access tokens and share links join here)."""
