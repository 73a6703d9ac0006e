package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/ledbridge/ledbridge/bridge/config"
)

func init() {
	cfgCmd := &cobra.Command{Use: "config", Short: "Check or show the configuration"}
	cfgCmd.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Validate the configuration (if invalid: one line naming the key, exit status 78)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			loaded, err := loadConfig(cmd, nil)
			if err != nil {
				return err
			}
			src := loaded.File
			if src == "" {
				src = "defaults (no config file found)"
			}
			for _, w := range loaded.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			if loaded.Room.Code == "" {
				// Valid for hub, discover and test-pattern, but the unit's join has no CODE argument.
				fmt.Fprintln(cmd.ErrOrStderr(), "warning: room.code is not set: join needs it (or a CODE argument: ledbridge join JAM234)")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "config ok: %s\n", src)
			return nil
		},
	})
	cfgCmd.AddCommand(&cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration as YAML, secrets redacted",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			loaded, err := loadConfig(cmd, nil)
			if err != nil {
				return err
			}
			c := config.Redacted(loaded.Config)
			out, err := yaml.Marshal(c.Map())
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	})
	rootCmd.AddCommand(cfgCmd)
}
