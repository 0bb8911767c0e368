-- The lexical (BM25) index, as chunk_store.py maintains it.

-- migrate:up

-- Document frequencies change by one signed net delta per lexeme, written by a single
-- INSERT ... ON CONFLICT DO UPDATE in lexeme order (one lock order for every writer, so no
-- deadlocks). PostgreSQL checks CHECK constraints on the proposed row before it looks for
-- a conflict, so a negative delta for an existing lexeme would be refused by `df >= 0`.
-- chunk_store.py checks the df it writes instead and refuses a negative result.
ALTER TABLE lexeme_stats DROP CONSTRAINT lexeme_stats_df_check;

-- migrate:down

ALTER TABLE lexeme_stats ADD CONSTRAINT lexeme_stats_df_check CHECK (df >= 0);
