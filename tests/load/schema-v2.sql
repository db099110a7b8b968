-- A database as offpeak-load ac7faa5 (schema_version 2) left it after loading three lines
-- with --session "xnys 2026-11-27": pg_dump --no-owner --no-privileges. tests/load/run.py
-- migrates it (case schema_v2_migrates).
--
--
-- PostgreSQL database dump
--

\restrict SIhV1JefmddQhqZdXGNy7DGbwgGoWdqvbhJzPRgT4UMfrd3nQGHrQzxm8EET7TH

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: offpeak; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA offpeak;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: load_sources; Type: TABLE; Schema: offpeak; Owner: -
--

CREATE TABLE offpeak.load_sources (
    load_id bigint NOT NULL,
    region text NOT NULL,
    source text NOT NULL,
    input_lines bigint NOT NULL,
    inserted bigint NOT NULL,
    updated bigint NOT NULL,
    unchanged bigint NOT NULL,
    duplicates bigint NOT NULL,
    stale bigint NOT NULL,
    rejected bigint NOT NULL
);


--
-- Name: loads; Type: TABLE; Schema: offpeak; Owner: -
--

CREATE TABLE offpeak.loads (
    id bigint NOT NULL,
    started timestamp with time zone NOT NULL,
    finished timestamp with time zone,
    host text NOT NULL,
    target text NOT NULL,
    input_lines bigint DEFAULT 0 NOT NULL,
    inserted bigint DEFAULT 0 NOT NULL,
    updated bigint DEFAULT 0 NOT NULL,
    unchanged bigint DEFAULT 0 NOT NULL,
    duplicates bigint DEFAULT 0 NOT NULL,
    rejected bigint DEFAULT 0 NOT NULL,
    status text NOT NULL,
    stale bigint DEFAULT 0 NOT NULL,
    session text
);


--
-- Name: loads_id_seq; Type: SEQUENCE; Schema: offpeak; Owner: -
--

ALTER TABLE offpeak.loads ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME offpeak.loads_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: records; Type: TABLE; Schema: offpeak; Owner: -
--

CREATE TABLE offpeak.records (
    region text NOT NULL,
    source text NOT NULL,
    key text NOT NULL,
    record jsonb NOT NULL,
    record_hash bytea NOT NULL,
    first_seen timestamp with time zone NOT NULL,
    changed_at timestamp with time zone NOT NULL,
    load_id bigint NOT NULL,
    fetched_at timestamp with time zone
);


--
-- Name: schema_version; Type: TABLE; Schema: offpeak; Owner: -
--

CREATE TABLE offpeak.schema_version (
    version integer NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Data for Name: load_sources; Type: TABLE DATA; Schema: offpeak; Owner: -
--

COPY offpeak.load_sources (load_id, region, source, input_lines, inserted, updated, unchanged, duplicates, stale, rejected) FROM stdin;
1	xnys	bars	3	3	0	0	0	0	0
\.


--
-- Data for Name: loads; Type: TABLE DATA; Schema: offpeak; Owner: -
--

COPY offpeak.loads (id, started, finished, host, target, input_lines, inserted, updated, unchanged, duplicates, rejected, status, stale, session) FROM stdin;
1	2026-11-30 00:47:18.655843+00	2026-11-30 00:47:18.846934+00	vm	offpeak.records	3	3	0	0	0	0	loaded	0	xnys 2026-11-27
\.


--
-- Data for Name: records; Type: TABLE DATA; Schema: offpeak; Owner: -
--

COPY offpeak.records (region, source, key, record, record_hash, first_seen, changed_at, load_id, fetched_at) FROM stdin;
xnys	bars	["AAPL","2026-11-27"]	{"c": "189.5", "t": 1764277200000}	\\xe9bab6078ae319e1c01f22920217620e1136d2d6573983179b519d34fc33df44	2026-11-30 00:47:18.655843+00	2026-11-30 00:47:18.655843+00	1	2026-11-28 01:00:00+00
xnys	bars	["MSFT","2026-11-27"]	{"c": "420.1", "t": 1764277200000}	\\xf7f6374bd111be0cbd1ef028a778e7c4454950f4c95b2dc15e5689a8e87b5331	2026-11-30 00:47:18.655843+00	2026-11-30 00:47:18.655843+00	1	2026-11-28 01:00:00+00
xnys	bars	["IBM","2026-11-27"]	{"c": "230.0", "t": 1764277200000}	\\x99504ca5d1e9ba9be9cf44a32f80668f8df39cec88d7559085acddecbd93c632	2026-11-30 00:47:18.655843+00	2026-11-30 00:47:18.655843+00	1	2026-11-28 01:00:00+00
\.


--
-- Data for Name: schema_version; Type: TABLE DATA; Schema: offpeak; Owner: -
--

COPY offpeak.schema_version (version, applied_at) FROM stdin;
1	2026-11-30 00:47:18.499794+00
2	2026-11-30 00:47:18.499794+00
\.


--
-- Name: loads_id_seq; Type: SEQUENCE SET; Schema: offpeak; Owner: -
--

SELECT pg_catalog.setval('offpeak.loads_id_seq', 1, true);


--
-- Name: load_sources load_sources_pkey; Type: CONSTRAINT; Schema: offpeak; Owner: -
--

ALTER TABLE ONLY offpeak.load_sources
    ADD CONSTRAINT load_sources_pkey PRIMARY KEY (load_id, region, source);


--
-- Name: loads loads_pkey; Type: CONSTRAINT; Schema: offpeak; Owner: -
--

ALTER TABLE ONLY offpeak.loads
    ADD CONSTRAINT loads_pkey PRIMARY KEY (id);


--
-- Name: records records_pkey; Type: CONSTRAINT; Schema: offpeak; Owner: -
--

ALTER TABLE ONLY offpeak.records
    ADD CONSTRAINT records_pkey PRIMARY KEY (region, source, key) INCLUDE (record_hash);


--
-- Name: schema_version schema_version_pkey; Type: CONSTRAINT; Schema: offpeak; Owner: -
--

ALTER TABLE ONLY offpeak.schema_version
    ADD CONSTRAINT schema_version_pkey PRIMARY KEY (version);


--
-- Name: load_sources_region_source; Type: INDEX; Schema: offpeak; Owner: -
--

CREATE INDEX load_sources_region_source ON offpeak.load_sources USING btree (region, source, load_id);


--
-- Name: load_sources load_sources_load_id_fkey; Type: FK CONSTRAINT; Schema: offpeak; Owner: -
--

ALTER TABLE ONLY offpeak.load_sources
    ADD CONSTRAINT load_sources_load_id_fkey FOREIGN KEY (load_id) REFERENCES offpeak.loads(id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--

\unrestrict SIhV1JefmddQhqZdXGNy7DGbwgGoWdqvbhJzPRgT4UMfrd3nQGHrQzxm8EET7TH

