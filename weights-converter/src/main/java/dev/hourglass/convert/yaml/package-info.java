/**
 * Reading the YAML subset that PyYAML's {@code yaml.dump} writes (Segmenter's {@code variant.yml}) without a YAML
 * library: {@link dev.hourglass.convert.yaml.YamlReader} gives maps, lists and scalars exactly as PyYAML's loader
 * would, and refuses anything outside that subset with a {@link dev.hourglass.convert.yaml.YamlException} that names
 * the file, the line and the feature.
 */
package dev.hourglass.convert.yaml;
