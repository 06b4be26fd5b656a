//go:build !race

package blazeface

const raceEnabled = false
