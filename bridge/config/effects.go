package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
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

// zeroEffect is an effects key whose 0 (or black) changed meaning in this version: before it, the
// renderer read a zero as its default (effect.Config), so an installation upgraded with such a
// line now behaves differently.
type zeroEffect struct {
	key    string // under effects.
	isZero bool
	value  string // as the warning quotes it
	now    string // what the value does now
	was    string // the default it meant before
	fix    string // how to get the default back, or keep the new meaning without the warning
}

// effectZeroWarnings returns a warning for each effects key set to 0 (idle_color to black) whose
// meaning changed in this version, naming the key, what the value does now and the default it
// meant before: a file valid before the upgrade still loads, but a strip that was lit at 0.8 stays
// dark, and this is the only place that says so. env names the LEDBRIDGE_ variable that set a key,
// or "" for one the file (or a flag) set. The idle keys are skipped with idle: off, where they
// change nothing.
func effectZeroWarnings(s effect.Settings, env func(key string) string) []string {
	const (
		toDefault = "remove the line for the default"
		instant   = toDefault + ", or make it -1 for the same without this warning"
		idleOff   = toDefault + ", or set effects.idle: off for the same without this warning"
	)
	idleOn := s.Idle != effect.IdleOff.String()
	idle, err := color.ParseHex(s.IdleColor)
	black := err == nil && idle == (color.RGB{})
	var out []string
	for _, z := range []zeroEffect{
		{"brightness_cap", s.BrightnessCap == 0, "0", "the strips stay dark",
			fmt.Sprintf("the default %g", effect.DefaultBrightnessCap), toDefault},
		{"idle_brightness", idleOn && s.IdleBrightness == 0, "0", "the idle look is dark",
			fmt.Sprintf("the default %g", effect.DefaultIdleBrightness), idleOff},
		{"idle_color", idleOn && black, strconv.Quote(s.IdleColor), "the idle look is dark",
			"the default amber " + effect.DefaultIdleColor.Hex(), idleOff},
		{"attack_ms", s.AttackMs == 0, "0", "notes light up at once",
			"the default " + effect.DefaultAttack.String(), instant},
		{"decay_ms", s.DecayMs == 0, "0", "notes go dark at once when they end",
			"the default " + effect.DefaultDecay.String(), instant},
		{"crossfade_ms", s.CrossfadeMs == 0, "0", "a switch between looks (local, broadcast, idle) is a cut",
			"the default " + effect.DefaultCrossfade.String(), instant},
		{"musician_hue_spread", s.MusicianHueSpread == 0, "0", "pitch no longer moves a musician's hue (colour mode musician)",
			fmt.Sprintf("the default %g degrees", float64(color.DefaultMusicianSpread)), toDefault},
		{"led_idle_milliamps", s.IdleMilliamps == 0, "0", "a dark LED's own draw is not counted against output.max_milliamps",
			fmt.Sprintf("the default %g mA per LED", float64(color.DefaultIdleMilliamps)), toDefault},
	} {
		if !z.isZero {
			continue
		}
		key, from, fix := "effects."+z.key, "", z.fix
		if v := env(key); v != "" {
			from = " (from " + v + ")"
			fix = strings.Replace(fix, "remove the line", "unset "+v, 1)
		}
		out = append(out, fmt.Sprintf("%s is %s%s: %s (before this version %s meant %s); %s",
			key, z.value, from, z.now, z.value, z.was, fix))
	}
	return out
}

// Look returns the entry's look for the renderer (effect.Strip without the LED count and RGBW,
// which are the device's), and whether its MaxMilliamps replaces output.max_milliamps. As in
// EffectConfig, a zero the operator wrote is the value itself: brightness: 0 keeps the strip dark
// (effect.Dark), max_milliamps: 0 turns the current limit off for this strip.
func (s Strip) Look() (look effect.Strip, ownLimit bool, err error) {
	st := effect.StripSettings{Effect: s.Effect, ColorMode: s.ColorMode, Reverse: s.Reverse, Mirror: s.Mirror}
	if s.Brightness != nil {
		st.Brightness = float32(*s.Brightness)
		if st.Brightness == 0 { // 0, or what float32 rounds to 0
			st.Brightness = effect.Dark
		}
	}
	if s.MaxMilliamps != nil {
		st.MaxMilliamps, ownLimit = float32(*s.MaxMilliamps), true
	}
	look, err = st.Look()
	return look, ownLimit, err
}
