"""chainrule's visualizer: computation graphs as pictures, and the command line."""
