SELECT set_config('geoportal.actor', $1, true)
