-- Vectors per movie and model, and each user's current list of picks.

CREATE TABLE movie_embeddings (
    movie_id      text NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    model         text NOT NULL,                        -- provider model name, with dimensions if set
    dimensions    integer NOT NULL,
    content_hash  text NOT NULL,                        -- movies.content_hash the vector was made from
    embedding     vector NOT NULL,                      -- HNSW index per model: see the embeddings job
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (movie_id, model)
);
CREATE INDEX movie_embeddings_model ON movie_embeddings (model);

-- Which model's vectors serve recommendations; switched only once a new model's set is complete.
CREATE TABLE embedding_models (
    model        text PRIMARY KEY,
    dimensions   integer NOT NULL,
    active       boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz
);
CREATE UNIQUE INDEX embedding_models_one_active ON embedding_models (active) WHERE active;

CREATE TABLE movie_recommendations (
    user_id       text NOT NULL REFERENCES media_users (id) ON DELETE CASCADE,
    movie_id      text NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    rank          integer NOT NULL CHECK (rank >= 1),
    score         real NOT NULL,
    breakdown     jsonb NOT NULL,                       -- every score component, by name
    evidence      jsonb NOT NULL DEFAULT '[]',          -- [{"movie_id", "title", "similarity"}]
    explanation   text,
    run_id        uuid,
    generated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, movie_id)
);
CREATE UNIQUE INDEX movie_recommendations_rank ON movie_recommendations (user_id, rank);
