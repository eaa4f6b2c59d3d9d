// Page: editor (to be built).
