// Page: office (to be built).
