"""The Backend-for-Frontend: the one HTTP surface the browser talks to, in front of the backend service."""
