package config

import (
	"math"
	"time"

	"github.com/ledbridge/ledbridge/analysis/color"
	"github.com/ledbridge/ledbridge/analysis/effect"
)

// EffectConfig returns the effects section as the renderer's configuration, honouring what the
// operator wrote. effect.Config takes a zero field as "the default", but here a key the file does
// not set already holds its default (Default), so a zero is the value itself: brightness_cap: 0
// and idle_brightness: 0 keep the strips (or the idle look) dark, idle_color "#000000" is a
// dark idle, attack_ms, decay_ms and crossfade_ms of 0 are instant, musician_hue_spread: 0 gives
// every note of a musician the musician's own hue, and led_idle_milliamps: 0 counts no idle draw.
// Use it rather than Effects.Config, which would light a strip asked to be dark.
func (c Config) EffectConfig() (effect.Config, error) {
	ec, err := c.Effects.Config()
	if err != nil {
		return ec, err
	}
	s := c.Effects
	if s.BrightnessCap == 0 {
		ec.BrightnessCap = effect.Dark
	}
	if s.IdleBrightness == 0 || s.IdleColor != "" && ec.IdleColor == (color.RGB{}) {
		ec.IdleBrightness = effect.Dark
	}
	if s.MusicianHueSpread == 0 {
		ec.Palette.MusicianSpread = math.SmallestNonzeroFloat32
	}
	for _, d := range []struct {
		ms  float64
		dst *time.Duration
	}{{s.AttackMs, &ec.Attack}, {s.DecayMs, &ec.Decay}, {s.CrossfadeMs, &ec.Crossfade}} {
		if d.ms == 0 {
			*d.dst = effect.Instant
		}
	}
	if s.IdleMilliamps == 0 {
		ec.Current.IdleMilliamps = -1 // color.CurrentModel: negative means none
	}
	return ec, ec.Validate()
}
