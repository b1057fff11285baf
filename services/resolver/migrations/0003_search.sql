-- Diacritics-insensitive contact search ("jiri novak" finds "Jiří Novák"). unaccent lives in
-- `public` and is always called schema-qualified (the timeline uses it too).
CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public;
