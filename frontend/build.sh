#!/usr/bin/env bash
# Rebuild the committed front-end assets. Needs Node and npm; nothing else in the project does:
# the outputs under static/frontend/ are committed, so `make run` and CI never call npm.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/build"
npm install --no-audit --no-fund --loglevel=error
npx esbuild editor.js --bundle --minify --format=iife --target=es2020 --outfile="$here/static/frontend/editor.min.js"
rm -rf "$here/static/frontend/vendor/katex"
mkdir -p "$here/static/frontend/vendor/katex"
cp node_modules/katex/dist/katex.min.js node_modules/katex/dist/katex.min.css "$here/static/frontend/vendor/katex/"
mkdir -p "$here/static/frontend/vendor/katex/fonts"
cp node_modules/katex/dist/fonts/* "$here/static/frontend/vendor/katex/fonts/"
cp node_modules/katex/LICENSE "$here/static/frontend/vendor/katex/LICENSE"
echo "built: $(du -h "$here/static/frontend/editor.min.js" | cut -f1) editor bundle, KaTeX $(node -p "require('katex/package.json').version")"
