// Jinja chat templates. See issue 3.
