// Page: admin (to be built).
