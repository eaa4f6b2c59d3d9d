// Page: district (to be built).
