// Alarm sounds, synthesised with the Web Audio API (no audio file to fetch). A critical alert
// gets a siren no other sound resembles (a falling two-tone, three times); a major one a
// single soft chime; minor and info alerts are silent. Browsers allow sound only after a user
// gesture: the sign-in click (or any click) unlocks it.
let audio = null;

/** Create the audio context inside a user gesture. */
export function unlockAudio() {
  try {
    audio = audio || new AudioContext();
    if (audio.state === "suspended") audio.resume();
  } catch { audio = null; }
}

function tone(freq, start, length, type, volume) {
  const osc = audio.createOscillator();
  const gain = audio.createGain();
  osc.type = type;
  osc.frequency.value = freq;
  gain.gain.setValueAtTime(volume, audio.currentTime + start);
  gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + start + length);
  osc.connect(gain).connect(audio.destination);
  osc.start(audio.currentTime + start);
  osc.stop(audio.currentTime + start + length + 0.02);
}

function count(name) {
  document.body.dataset[name] = String(Number(document.body.dataset[name] || 0) + 1);
}

/** The critical-alert siren: 988 Hz then 740 Hz, square wave, three times (~1.4 s). */
export function beep() {
  unlockAudio();
  document.body.dataset.lastSound = "critical";
  count("beeps");
  if (!audio) return;
  for (let i = 0; i < 3; i += 1) {
    tone(988, i * 0.48, 0.2, "square", 0.16);
    tone(740, i * 0.48 + 0.22, 0.2, "square", 0.16);
  }
}

/** A major alert: one soft 660 Hz sine chime. */
export function chime() {
  unlockAudio();
  document.body.dataset.lastSound = "major";
  count("chimes");
  if (!audio) return;
  tone(660, 0, 0.35, "sine", 0.08);
}
