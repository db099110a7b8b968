-- A database as offpeak-load 2e836d4 (schema_version 1) left it after loading two lines:
-- pg_dump --no-owner --no-privileges. tests/load/run.py migrates it (case schema_v1_migrates).
--
-- PostgreSQL database dump
--


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
    status text NOT NULL
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
    load_id bigint NOT NULL
);


--
-- Name: schema_version; Type: TABLE; Schema: offpeak; Owner: -
--

CREATE TABLE offpeak.schema_version (
    version integer NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Data for Name: loads; Type: TABLE DATA; Schema: offpeak; Owner: -
--

COPY offpeak.loads (id, started, finished, host, target, input_lines, inserted, updated, unchanged, duplicates, rejected, status) FROM stdin;
1	2026-11-29 22:16:57.472221+00	2026-11-29 22:16:57.512693+00	vm	offpeak.records	2	2	0	0	0	0	loaded
\.


--
-- Data for Name: records; Type: TABLE DATA; Schema: offpeak; Owner: -
--

COPY offpeak.records (region, source, key, record, record_hash, first_seen, changed_at, load_id) FROM stdin;
xnys	bars	["AAPL","2026-11-27"]	{"c": "189.5", "t": 1764277200000}	\\xe9bab6078ae319e1c01f22920217620e1136d2d6573983179b519d34fc33df44	2026-11-29 22:16:57.472221+00	2026-11-29 22:16:57.472221+00	1
xnys	bars	["MSFT","2026-11-27"]	{"c": "420.1", "t": 1764277200000}	\\xf7f6374bd111be0cbd1ef028a778e7c4454950f4c95b2dc15e5689a8e87b5331	2026-11-29 22:16:57.472221+00	2026-11-29 22:16:57.472221+00	1
\.


--
-- Data for Name: schema_version; Type: TABLE DATA; Schema: offpeak; Owner: -
--

COPY offpeak.schema_version (version, applied_at) FROM stdin;
1	2026-11-29 22:16:57.44348+00
\.


--
-- Name: loads_id_seq; Type: SEQUENCE SET; Schema: offpeak; Owner: -
--

SELECT pg_catalog.setval('offpeak.loads_id_seq', 1, true);


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
-- PostgreSQL database dump complete
--


