// Model definitions.
