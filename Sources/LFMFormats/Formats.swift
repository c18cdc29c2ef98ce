// Model file formats.
