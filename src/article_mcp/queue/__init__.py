"""The embedding queue: task state changes (enqueue, claim, finish, settle), cleanup,
operator actions, reports and health.

It knows no front end: neither the server nor the CLI.
"""
