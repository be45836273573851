"""Front-ends for people: the GTP engine (and later the JSON analysis engine)."""
