"""Who may do what: principals and their scopes, the keyed hash of the secrets the server hands
out, and public share links (access tokens join here)."""
