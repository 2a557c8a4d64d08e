package main

import (
	"context"
	"errors"
)

// folderCommands are `berth folder ...`: storage folders, not implemented
// yet (each fails with a clear error).
func folderCommands() []cliCommand {
	return []cliCommand{
		{name: "folder create", synopsis: "folder create N", about: "Create a storage folder (not implemented yet).", run: folderStub(1, 1)},
		{name: "folder ls", synopsis: "folder ls N [PATH]", about: "List a storage folder (not implemented yet).", run: folderStub(1, 2)},
		{name: "folder upload", synopsis: "folder upload N LOCAL [REMOTE]", about: "Upload a file into a storage folder (not implemented yet).", run: folderStub(2, 3)},
		{name: "folder download", synopsis: "folder download N REMOTE LOCAL", about: "Download a file from a storage folder (not implemented yet).", run: folderStub(3, 3)},
		{name: "folder rm", synopsis: "folder rm N", about: "Remove a storage folder (not implemented yet).", run: folderStub(1, 1)},
	}
}

// folderStub checks the arguments of a folder command, then fails: storage
// folders are a later piece of work.
func folderStub(min, max int) func(context.Context, *cli, *cmdFlags, []string) error {
	return func(ctx context.Context, c *cli, f *cmdFlags, args []string) error {
		if err := f.parse(args); err != nil {
			return err
		}
		if err := f.nargs(min, max, "arguments"); err != nil {
			return err
		}
		return errors.New(f.name + ": storage folders are not implemented yet")
	}
}
