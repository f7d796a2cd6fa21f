// `docker compose config` where there is no Docker: loads a compose file with compose-go,
// the library the compose plugin itself loads files with (interpolation, validation against
// the compose spec, consistency checks such as depends_on naming real services), and prints
// the resolved project (YAML, or JSON with --json), or the errors and exit 1.
//
//	go -C scripts/compose_config run . "$PWD/docker-compose.yml" [--json]
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	args := os.Args[1:]
	asJSON := len(args) == 2 && args[1] == "--json"
	if len(args) != 1 && !asJSON {
		fmt.Fprintln(os.Stderr, "usage: compose_config <compose file> [--json]")
		os.Exit(2)
	}
	file, err := filepath.Abs(args[0])
	if err == nil {
		err = run(file, asJSON)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(file string, asJSON bool) error {
	options, err := cli.NewProjectOptions([]string{file},
		cli.WithOsEnv,
		cli.WithWorkingDirectory(filepath.Dir(file)),
		cli.WithDotEnv,
	)
	if err != nil {
		return err
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		return err
	}
	out, err := project.MarshalYAML()
	if asJSON {
		out, err = project.MarshalJSON()
	}
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(out)
	return err
}
