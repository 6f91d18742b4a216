"""The engine layer: everything that talks to Docker. Never imports Textual."""
