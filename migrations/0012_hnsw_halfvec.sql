-- Each model's HNSW index holds its vectors at half precision (`halfvec`): the same recall@10,
-- about half the size, faster to search (BENCHMARKS.md, "HNSW build parameters"). Only the
-- index expression changes, to `embedding::halfvec(<dims>)`; the stored column stays
-- full-precision `vector`, and scores are still computed from it. Every existing model index
-- is rebuilt here with its own m and ef_construction (a large collection takes a while:
-- about as long as the model's first index build).

-- migrate:up

DO $$
DECLARE
    model record;
BEGIN
    FOR model IN
        SELECT m.id, m.dimensions, i.relname AS index, i.reloptions
        FROM embedding_models AS m
        JOIN pg_class AS i ON i.oid = to_regclass('chunk_embeddings_hnsw_' || m.id)
        WHERE m.dimensions IS NOT NULL
    LOOP
        EXECUTE format('DROP INDEX %I', model.index);
        EXECUTE format(
            'CREATE INDEX %I ON chunk_embeddings USING hnsw ((embedding::halfvec(%s)) halfvec_cosine_ops)'
            ' WITH (%s) WHERE model_id = %s',
            model.index, model.dimensions, array_to_string(model.reloptions, ', '), model.id
        );
    END LOOP;
END
$$;

-- migrate:down

DO $$
DECLARE
    model record;
BEGIN
    FOR model IN
        SELECT m.id, m.dimensions, i.relname AS index, i.reloptions
        FROM embedding_models AS m
        JOIN pg_class AS i ON i.oid = to_regclass('chunk_embeddings_hnsw_' || m.id)
        WHERE m.dimensions IS NOT NULL
    LOOP
        EXECUTE format('DROP INDEX %I', model.index);
        EXECUTE format(
            'CREATE INDEX %I ON chunk_embeddings USING hnsw ((embedding::vector(%s)) vector_cosine_ops)'
            ' WITH (%s) WHERE model_id = %s',
            model.index, model.dimensions, array_to_string(model.reloptions, ', '), model.id
        );
    END LOOP;
END
$$;
