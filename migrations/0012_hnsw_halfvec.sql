-- Each model's HNSW index holds its vectors at half precision (`halfvec`): the same recall@10,
-- about half the size, faster to search (BENCHMARKS.md, "HNSW build parameters"). Only the
-- index expression changes, to `embedding::halfvec(<dims>)`; the stored column stays
-- full-precision `vector`, and scores are still computed from it. Every existing model index
-- is rebuilt here with its own m and ef_construction, except that an index built with the
-- former defaults (m 16, ef_construction 64) gets the new ones (m 24, ef_construction 64):
-- HNSW_EF_SEARCH's default fell from 200 to 128, which holds recall@10 0.95 at 100k passages
-- with m 24, not with m 16. A large collection takes a while: about as long as the model's
-- first index build.
--
-- The rebuild is a function, kept in the schema until this migration is undone, so that up
-- and down run the same code.

-- migrate:up

-- Rebuild every model's HNSW index on `embedding::<kind>(<dims>)` with `<kind>_cosine_ops`,
-- keeping its options, except that options equal to `former` become `replacement`.
CREATE FUNCTION rebuild_model_hnsw_indexes(kind text, former text[], replacement text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    model record;
BEGIN
    IF kind NOT IN ('vector', 'halfvec') THEN
        RAISE EXCEPTION 'kind must be vector or halfvec, not %', kind;
    END IF;
    FOR model IN
        SELECT m.id, m.dimensions, i.relname AS index,
               CASE WHEN i.reloptions = former THEN replacement ELSE i.reloptions END AS options
        FROM embedding_models AS m
        JOIN pg_class AS i ON i.oid = to_regclass('chunk_embeddings_hnsw_' || m.id)
        WHERE m.dimensions IS NOT NULL
    LOOP
        EXECUTE format('DROP INDEX %I', model.index);
        EXECUTE format(
            'CREATE INDEX %I ON chunk_embeddings USING hnsw ((embedding::%s(%s)) %s_cosine_ops)'
            ' WITH (%s) WHERE model_id = %s',
            model.index, kind, model.dimensions, kind, array_to_string(model.options, ', '), model.id
        );
    END LOOP;
END
$$;

SELECT rebuild_model_hnsw_indexes('halfvec', '{m=16,ef_construction=64}', '{m=24,ef_construction=64}');

-- migrate:down

SELECT rebuild_model_hnsw_indexes('vector', NULL, NULL);
DROP FUNCTION rebuild_model_hnsw_indexes(text, text[], text[]);
