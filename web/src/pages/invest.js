// Page: invest (to be built).
