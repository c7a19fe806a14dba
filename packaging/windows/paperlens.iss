; Inno Setup script for PaperLens on Windows. UNTESTED: written beside the Linux recipe, never run (no Windows here).
; Build on Windows, from the repository root:
;   .venv\Scripts\python -m pip install -e .[package]
;   .venv\Scripts\pyinstaller --noconfirm --distpath dist\pyinstaller --workpath build\pyinstaller packaging\paperlens.spec
;   "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" packaging\windows\paperlens.iss
; Output: dist\PaperLens-0.1.0-setup.exe (per-user install, no administrator rights needed).

#define AppVersion "0.1.0"

[Setup]
AppId={{8C6F2E1A-5D3B-4B7E-9A51-2F0C7D4E9B10}
AppName=PaperLens
AppVersion={#AppVersion}
AppPublisher=PaperLens developers
AppPublisherURL=https://paperlens.app/
DefaultDirName={localappdata}\Programs\PaperLens
DefaultGroupName=PaperLens
PrivilegesRequired=lowest
OutputDir=..\..\dist
OutputBaseFilename=PaperLens-{#AppVersion}-setup
SetupIconFile=..\..\resources\icons\paperlens.ico
UninstallDisplayIcon={app}\paperlens.exe
Compression=lzma2/max
SolidCompression=yes
ArchitecturesInstallIn64BitMode=x64compatible
ChangesAssociations=yes

[Files]
Source: "..\..\dist\pyinstaller\paperlens\*"; DestDir: "{app}"; Flags: recursesubdirs ignoreversion

[Icons]
; paperlens.exe is a console program (it is also the CLI); the shortcut starts it minimised so the console stays out
; of the way. A windowed-only second EXE in the spec would hide it entirely.
Name: "{group}\PaperLens"; Filename: "{app}\paperlens.exe"; IconFilename: "{app}\paperlens.exe"; Flags: runminimized
Name: "{userdesktop}\PaperLens"; Filename: "{app}\paperlens.exe"; Flags: runminimized; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked

[Registry]
; "Open with PaperLens" for PDFs and images (an OpenWithProgids entry: offered, never taking over the default).
Root: HKCU; Subkey: "Software\Classes\PaperLens.Document"; ValueType: string; ValueData: "PaperLens document"; Flags: uninsdeletekey
Root: HKCU; Subkey: "Software\Classes\PaperLens.Document\DefaultIcon"; ValueType: string; ValueData: "{app}\paperlens.exe,0"
Root: HKCU; Subkey: "Software\Classes\PaperLens.Document\shell\open\command"; ValueType: string; ValueData: """{app}\paperlens.exe"" ""%1"""
Root: HKCU; Subkey: "Software\Classes\.pdf\OpenWithProgids"; ValueType: none; ValueName: "PaperLens.Document"; Flags: uninsdeletevalue
Root: HKCU; Subkey: "Software\Classes\.png\OpenWithProgids"; ValueType: none; ValueName: "PaperLens.Document"; Flags: uninsdeletevalue
Root: HKCU; Subkey: "Software\Classes\.jpg\OpenWithProgids"; ValueType: none; ValueName: "PaperLens.Document"; Flags: uninsdeletevalue
Root: HKCU; Subkey: "Software\Classes\.tif\OpenWithProgids"; ValueType: none; ValueName: "PaperLens.Document"; Flags: uninsdeletevalue

[Run]
Filename: "{app}\paperlens.exe"; Description: "Open PaperLens"; Flags: nowait postinstall skipifsilent runminimized
