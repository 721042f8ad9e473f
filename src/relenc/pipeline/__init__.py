"""From raw text to triples: the extraction pipeline, batch jobs over files, the spaCy component."""
