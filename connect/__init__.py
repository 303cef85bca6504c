"""The web app: the doors (Atlassian Connect, Forge Remote, GitHub), the REST API, the pages
people look at, the CLI, and the factory that wires them (`connect/app.py`)."""
