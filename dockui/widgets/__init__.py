"""Widgets render engine data handed to them; they never import docker."""
