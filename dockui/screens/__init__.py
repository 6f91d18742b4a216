"""Screens: full-screen views and dialogs; they never import docker."""
