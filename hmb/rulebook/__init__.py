"""A jurisdiction's rulebook (data/rulebooks/*.toml): its parameters and rules, each with a
clause."""
