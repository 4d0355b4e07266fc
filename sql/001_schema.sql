-- Schema that holds every Redstream object: stream MVs, events, rejects, merge state and the merge procedure.
CREATE SCHEMA IF NOT EXISTS {{schema}};
