"""Wire models shared by the backend and the BFF so that both validate the same shapes."""
