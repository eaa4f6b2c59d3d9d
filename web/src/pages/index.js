// Page: resident map (to be built).
