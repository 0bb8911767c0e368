"""The database layer: the connection pool and its codecs, the embedded PostgreSQL server, LISTEN
with reconnection, named SQL files, migrations and `db verify`, and the row helpers reports share.

It imports no domain package: articles, passages, the queue and the rest build on it.
"""
