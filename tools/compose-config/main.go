// compose-config loads a Compose file the way `docker compose config` does, with Compose's own
// loader (github.com/compose-spec/compose-go): validation against the Compose Specification's
// JSON schema, interpolation, typed parsing (durations, sizes, ports) and the consistency checks
// (a depends_on naming an unknown service, an undeclared volume, ...). It prints the resulting
// project as JSON, or the loader's error and exit code 1. The tests use it to check
// docker-compose.yml where no Docker engine runs.
//
// Usage: compose-config FILE
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-config FILE")
		os.Exit(2)
	}
	options, err := cli.NewProjectOptions(
		[]string{os.Args[1]},
		// Only the file's own ${VAR:-default}s and the caller's environment: no .env file.
		cli.WithOsEnv,
		cli.WithInterpolation(true),
		cli.WithResolvedPaths(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
	)
	if err != nil {
		fail(err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fail(err)
	}
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
