/**
 * Reading Segmenter's {@code variant.yml} (written by PyYAML's {@code yaml.dump}) as PyYAML's loader would:
 * {@link dev.hourglass.convert.yaml.YamlReader} parses with snakeyaml-engine under safe settings and limits, builds
 * plain maps, lists and scalars with its own constructor (PyYAML's scalar rules, {@code !!python/tuple} as a list, no
 * other tag), and refuses anything else with a {@link dev.hourglass.convert.yaml.YamlException} that names the file,
 * the line and the problem.
 */
package dev.hourglass.convert.yaml;
