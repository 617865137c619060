"""Examples of picker-discovery: a script, a notebook and a web app (``examples.webapp``)."""
