package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

func versionCommand() command {
	return command{
		name:    "version",
		summary: "print the build's version",
		run: func(_ context.Context, _ []string, stdout, _ io.Writer) int {
			v := "devel"
			if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
			fmt.Fprintf(stdout, "berth %s\n", v)
			return 0
		},
	}
}
