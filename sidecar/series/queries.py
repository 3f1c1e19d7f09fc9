"""The SQL that is about series: the rows sync-series writes (shows, then episodes), the per-user
show states, the taste the recommender reads, the embedding text's fields and the library entries.
Everything else the series jobs run is generic (sidecar/media/*_queries.py)."""

from sidecar.media.recommend_queries import MERGED_PLAYS
from sidecar.series.taste import STATE_RATING, rating_case

CREATE_INCOMING_SERIES = """
CREATE TEMP TABLE incoming (
    id text, library_id text, title text, original_title text, sort_title text, year integer,
    end_year integer, status text, overview text, genres text[], studios text[], people text, tags text[],
    community_rating real, official_rating text, provider_ids text, tmdb_id text, imdb_id text,
    tvdb_id text, path text, premiere_date date, date_added timestamptz, content_hash text, sync_hash text
) ON COMMIT DROP
"""

UPSERT_INCOMING_SERIES = """
INSERT INTO series AS s (
    id, library_id, title, original_title, sort_title, year, end_year, status, overview, genres, studios,
    people, tags, community_rating, official_rating, provider_ids, tmdb_id, imdb_id, tvdb_id, path,
    premiere_date, date_added, content_hash, sync_hash, text_hash
)
SELECT id, library_id, title, original_title, sort_title, year, end_year, status, overview, genres,
       studios, people::jsonb, tags, community_rating, official_rating, provider_ids::jsonb, tmdb_id,
       imdb_id, tvdb_id, path, premiere_date, date_added, content_hash, sync_hash, content_hash
FROM incoming
ON CONFLICT (id) DO UPDATE SET
    library_id = EXCLUDED.library_id, title = EXCLUDED.title, original_title = EXCLUDED.original_title,
    sort_title = EXCLUDED.sort_title, year = EXCLUDED.year, end_year = EXCLUDED.end_year,
    status = EXCLUDED.status, overview = EXCLUDED.overview, genres = EXCLUDED.genres,
    studios = EXCLUDED.studios, people = EXCLUDED.people, tags = EXCLUDED.tags,
    community_rating = EXCLUDED.community_rating, official_rating = EXCLUDED.official_rating,
    provider_ids = EXCLUDED.provider_ids, tmdb_id = EXCLUDED.tmdb_id, imdb_id = EXCLUDED.imdb_id,
    tvdb_id = EXCLUDED.tvdb_id, path = EXCLUDED.path, premiere_date = EXCLUDED.premiere_date,
    date_added = EXCLUDED.date_added, content_hash = CASE WHEN s.text_hash = EXCLUDED.text_hash THEN s.content_hash
                        ELSE EXCLUDED.content_hash END,  -- an enriched hash survives (sql/130)
    text_hash = EXCLUDED.text_hash, sync_hash = EXCLUDED.sync_hash,
    removed_at = NULL, updated_at = now()
"""

CREATE_INCOMING_EPISODES = """
CREATE TEMP TABLE incoming (
    id text, series_id text, library_id text, season_number integer, episode_number integer,
    episode_number_end integer, title text, overview text, premiere_date date, runtime_ticks bigint,
    path text, provider_ids text, tmdb_id text, imdb_id text, tvdb_id text, date_added timestamptz,
    content_hash text, sync_hash text
) ON COMMIT DROP
"""

# An episode whose server id changed keeps its row (and its plays' history lives on the old id until
# the next full watch-history run): a new id for a present (series, season, episode) triple is a new
# row, and the old id is removed only after a complete listing proves it gone.
UPSERT_INCOMING_EPISODES = """
INSERT INTO episodes AS e (
    id, series_id, library_id, season_number, episode_number, episode_number_end, title, overview,
    premiere_date, runtime_ticks, path, provider_ids, tmdb_id, imdb_id, tvdb_id, date_added,
    content_hash, sync_hash, text_hash
)
SELECT id, series_id, library_id, season_number, episode_number, episode_number_end, title, overview,
       premiere_date, runtime_ticks, path, provider_ids::jsonb, tmdb_id, imdb_id, tvdb_id, date_added,
       content_hash, sync_hash, content_hash
FROM incoming
ON CONFLICT (id) DO UPDATE SET
    series_id = EXCLUDED.series_id, library_id = EXCLUDED.library_id,
    season_number = EXCLUDED.season_number, episode_number = EXCLUDED.episode_number,
    episode_number_end = EXCLUDED.episode_number_end, title = EXCLUDED.title,
    overview = EXCLUDED.overview, premiere_date = EXCLUDED.premiere_date,
    runtime_ticks = EXCLUDED.runtime_ticks, path = EXCLUDED.path, provider_ids = EXCLUDED.provider_ids,
    tmdb_id = EXCLUDED.tmdb_id, imdb_id = EXCLUDED.imdb_id, tvdb_id = EXCLUDED.tvdb_id,
    date_added = EXCLUDED.date_added, content_hash = EXCLUDED.content_hash, text_hash = EXCLUDED.text_hash,
    sync_hash = EXCLUDED.sync_hash, removed_at = NULL, updated_at = now()
"""

# Per user and show, from the plays and the favourite shows (series.md §1; first matching state wins). Counts use regular
# seasons only and episodes that are present and premiered (or undated). "In progress" = a resume
# position of at least 5 % (Jellyfin resets positions under that); a play count alone is a started
# playback, not a played episode. Specials never block `finished`,
# and plays of specials alone (or an episode in progress) make a show `started`, not `watching`.
# The plays are the server's merged with imported ones (Trakt: recommend_queries.MERGED_PLAYS).
# $1 user ids, $2 drop-after days, $3 watching days.
REBUILD_STATES = """
WITH available AS (
    SELECT series_id, count(*) AS n
    FROM episodes
    WHERE removed_at IS NULL AND coalesce(season_number, 1) > 0
      AND (premiere_date IS NULL OR premiere_date <= current_date)
    GROUP BY series_id
),
per_show AS (
    SELECT p.user_id, e.series_id,
           count(*) FILTER (WHERE p.played AND e.removed_at IS NULL
                            AND coalesce(e.season_number, 1) > 0
                            AND (e.premiere_date IS NULL OR e.premiere_date <= current_date)) AS played,
           count(*) FILTER (WHERE NOT p.played AND p.position_ticks > 0
                            AND (e.runtime_ticks IS NULL OR p.position_ticks >= 0.05 * e.runtime_ticks))
               AS in_progress,
           count(*) FILTER (WHERE p.played) AS any_played,
           min(p.last_played_at) AS first_played_at,
           max(p.last_played_at) AS last_played_at,
           bool_or(p.is_favorite) AS favourite
    FROM {merged_plays} p
    JOIN episodes e ON e.id = p.episode_id
    WHERE p.user_id = ANY($1::text[])
    GROUP BY p.user_id, e.series_id
),
favourite_shows AS (
    SELECT f.user_id, unnest(f.item_ids) AS series_id
    FROM user_favourite_items f
    WHERE f.media_type = 'series' AND f.user_id = ANY($1::text[])
),
shows AS (
    SELECT coalesce(p.user_id, f.user_id) AS user_id, coalesce(p.series_id, f.series_id) AS series_id,
           coalesce(p.played, 0) AS played, coalesce(p.in_progress, 0) AS in_progress,
           coalesce(p.any_played, 0) AS any_played, p.first_played_at, p.last_played_at,
           coalesce(p.favourite, false) OR f.series_id IS NOT NULL AS favourite
    FROM per_show p
    FULL JOIN favourite_shows f ON f.user_id = p.user_id AND f.series_id = p.series_id
),
states AS (
    SELECT s.user_id, s.series_id, s.played, coalesce(a.n, 0) AS available, s.in_progress,
           s.first_played_at, s.last_played_at, s.favourite,
           CASE
               WHEN coalesce(a.n, 0) > 0 AND s.played >= a.n THEN 'finished'
               -- a favourite the user has not started: taste, but neither dropped nor watching
               WHEN s.any_played = 0 AND s.in_progress = 0 THEN 'started'
               WHEN (s.last_played_at IS NULL OR s.last_played_at < now() - make_interval(days => $2))
                    AND s.played < 0.5 * coalesce(a.n, 0) THEN 'dropped'
               WHEN s.played > 0 AND s.last_played_at >= now() - make_interval(days => $3) THEN 'watching'
               ELSE 'started'
           END AS state
    FROM shows s
    LEFT JOIN available a ON a.series_id = s.series_id
    JOIN series sr ON sr.id = s.series_id
    WHERE s.any_played > 0 OR s.in_progress > 0 OR s.favourite
),
gone AS (
    DELETE FROM series_user_state o
    WHERE o.user_id = ANY($1::text[])
      AND NOT EXISTS (SELECT 1 FROM states n WHERE n.user_id = o.user_id AND n.series_id = o.series_id)
)
INSERT INTO series_user_state AS o (user_id, series_id, state, episodes_played, episodes_available,
                                    episodes_in_progress, first_played_at, last_played_at, favourite)
SELECT user_id, series_id, state, played, available, in_progress, first_played_at, last_played_at,
       favourite
FROM states
ON CONFLICT (user_id, series_id) DO UPDATE SET
    state = EXCLUDED.state, episodes_played = EXCLUDED.episodes_played,
    episodes_available = EXCLUDED.episodes_available,
    episodes_in_progress = EXCLUDED.episodes_in_progress, first_played_at = EXCLUDED.first_played_at,
    last_played_at = EXCLUDED.last_played_at, favourite = EXCLUDED.favourite, updated_at = now()
WHERE (o.state, o.episodes_played, o.episodes_available, o.episodes_in_progress, o.last_played_at,
       o.favourite)
      IS DISTINCT FROM (EXCLUDED.state, EXCLUDED.episodes_played, EXCLUDED.episodes_available,
                        EXCLUDED.episodes_in_progress, EXCLUDED.last_played_at, EXCLUDED.favourite)
""".replace(
    "{merged_plays}",
    MERGED_PLAYS.replace("{user_filter}", "user_id = ANY($1::text[])").format(
        plays="episode_plays", play_item_id="episode_id", played="episodes"
    ),
)

# Taste, in the columns of the generic PLAYS query (one row per user, arrays per show): how far a
# user got counts through the rating factor of the shared weights (taste.STATE_RATING: finished and
# binged shows say more than dropped ones) and episodes played through the play count; a favourite
# show (or a favourite episode of it) counts as a finished one, whatever its state. A show rated on
# an outside service (Trakt, `imported_ratings`) takes that rating instead of its state's stand-in,
# the server's favourite still first, and a show rated there but never played here joins the history
# as seen. Every started, favourite or rated show is in the history, so none is ever a new pick.
TASTE = """
WITH state AS (
    SELECT * FROM series_user_state WHERE $1::text[] IS NULL OR user_id = ANY($1::text[])
), rated AS (
    SELECT user_id, item_id AS series_id, max(rating)::float8 AS rating, max(rated_at) AS rated_at
    FROM imported_ratings
    WHERE item_table = 'series' AND item_id IS NOT NULL AND ($1::text[] IS NULL OR user_id = ANY($1::text[]))
    GROUP BY user_id, item_id
), taste AS (
    SELECT coalesce(s.user_id, r.user_id) AS user_id, coalesce(s.series_id, r.series_id) AS series_id,
           greatest(coalesce(s.episodes_played, 0), 1) AS play_count,
           coalesce(s.favourite, false) AS favourite,
           CASE WHEN s.favourite THEN {favourite} WHEN r.rating IS NOT NULL THEN r.rating ELSE {rating} END
               AS user_rating,
           coalesce(s.last_played_at, r.rated_at) AS last_played_at
    FROM state s FULL JOIN rated r ON r.user_id = s.user_id AND r.series_id = s.series_id
)
SELECT user_id,
       array_agg(series_id) AS item_ids,
       array_agg(play_count) AS play_counts,
       array_agg(favourite) AS favourite,
       array_agg(user_rating) AS user_ratings,
       array_agg(extract(epoch FROM last_played_at)::float8) AS last_played,
       array_agg(true) AS watched
FROM taste
GROUP BY user_id
""".format(rating=rating_case("s.state"), favourite=STATE_RATING["finished"])

# A show picked for the user that they have started (and neither finished nor dropped) stays in
# their list, ahead of the new picks, so it never vanishes mid-season. $1 user ids or null.
KEPT = """
SELECT r.user_id, r.series_id AS item_id
FROM series_recommendations r
JOIN series_user_state s ON s.user_id = r.user_id AND s.series_id = r.series_id
WHERE s.state IN ('started', 'watching') AND ($1::text[] IS NULL OR r.user_id = ANY($1::text[]))
ORDER BY r.user_id, r.rank
"""

TEXT_FIELDS = """
SELECT s.id, s.title, s.original_title, s.year, s.end_year, s.status, s.overview, s.genres, s.studios,
       s.people, s.tags, s.content_hash, x.keywords AS enriched_keywords, x.cast_names, x.created_by,
       x.networks, x.original_language
FROM series s
LEFT JOIN item_enrichment x ON x.items_table = 'series' AND x.item_id = s.id AND x.status = 'enriched'
WHERE s.id = ANY($1::text[]) AND s.removed_at IS NULL
ORDER BY s.id
"""

# A library entry's show columns and its present episodes, in order (the entry builder reads these).
_SHOW_ENTRY_COLUMNS = """
       s.title, s.year, s.original_title, s.overview, s.genres, s.studios, s.status,
       s.community_rating, s.official_rating, s.tmdb_id, s.imdb_id, s.tvdb_id"""
_PRESENT_EPISODES = """
       coalesce((
           SELECT json_agg(json_build_object(
                      'id', e.id, 'season', e.season_number, 'episode', e.episode_number,
                      'episode_end', e.episode_number_end, 'title', e.title, 'overview', e.overview,
                      'aired', e.premiere_date, 'runtime_ticks', e.runtime_ticks, 'path', e.path,
                      'tmdb_id', e.tmdb_id, 'imdb_id', e.imdb_id, 'tvdb_id', e.tvdb_id)
                  ORDER BY e.season_number, e.episode_number, e.id)
           FROM episodes e
           WHERE e.series_id = s.id AND e.removed_at IS NULL
       ), '[]') AS episodes"""

# One user's picks with the show's metadata and its present episodes (in order), best first.
LIBRARY_PICKS = f"""
SELECT r.series_id, r.rank, r.explanation,{_SHOW_ENTRY_COLUMNS},{_PRESENT_EPISODES}
FROM series_recommendations r
JOIN series s ON s.id = r.series_id
WHERE r.user_id = $1 AND s.removed_at IS NULL
ORDER BY r.rank
"""

# refresh-top-picks for shows (the generic POPULAR counts plays of the kind's own items; here they are
# of episodes): per show, distinct viewers among the users enabled for series, each weighing their
# best episode view (1 finished, 1/2 started, halved every $2 days); plays of copies in AI libraries
# were already counted for their originals by the watch-history step. Same parameters and order as
# system/top_picks_queries.POPULAR, and the columns of LIBRARY_PICKS for the entry builder.
POPULAR = f"""
WITH views AS (
    SELECT e.series_id, p.user_id,
           max(CASE WHEN p.played THEN 1.0 ELSE 0.5 END::float8
               * power(0.5::float8, extract(epoch FROM (now() - p.last_played_at))::float8 / 86400.0 / $2))
               AS weight
    FROM episode_plays p
    JOIN episodes e ON e.id = p.episode_id
    JOIN media_users u ON u.id = p.user_id
    WHERE p.last_played_at >= $1 AND (p.played OR p.position_ticks > 0)
      AND u.series_enabled AND NOT u.is_disabled AND u.removed_at IS NULL
    GROUP BY e.series_id, p.user_id
), ranked AS (
    SELECT series_id, count(*) AS viewers, sum(weight) AS score FROM views GROUP BY series_id
    HAVING count(*) >= $3
)
SELECT s.id AS series_id, r.viewers, r.score,{_SHOW_ENTRY_COLUMNS},{_PRESENT_EPISODES}
FROM ranked r
JOIN series s ON s.id = r.series_id AND s.removed_at IS NULL
WHERE $4::text[] IS NULL OR s.library_id = ANY($4::text[])
ORDER BY r.score DESC, s.community_rating DESC NULLS LAST, s.title, s.id
LIMIT $5
"""
