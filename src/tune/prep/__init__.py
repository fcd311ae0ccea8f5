"""Raw public dumps -> training files. The scripts in data_prep/ are thin command lines over these."""
