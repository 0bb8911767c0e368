-- Queries of the article service's writes (service.py): the lock and the delete.

-- name: lock_article
-- The article with slug $1, locked for this transaction's update or delete.
SELECT id, slug, title, content, folder, tags, no_rag, version
FROM articles
WHERE slug = $1
FOR UPDATE;

-- name: delete_article
-- Delete article $1 (its chunks go with it; its tasks keep their history with a NULL article).
DELETE FROM articles WHERE id = $1;
